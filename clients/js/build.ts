/**
 * @module Builds the client as the npm package `@stowage/client`: ES modules
 * and `.d.ts` types that stand alone. The sources stay where they are
 * (`clients/js/*.ts`); the package's `package.json` and README are in
 * `clients/js/npm/`.
 *
 * The client's types are the functions' zod schemas (`z.input<typeof
 * UploadBody>`...). A declaration emit would keep those imports into
 * `supabase/functions/` and zod, so every module that imports from outside
 * the package gets its types written out structurally by the type checker
 * instead: the package's types are exactly the schemas' types, with no import
 * of zod, Hono or Deno. The build fails when a type cannot be written out
 * (an `any`, a function inside a schema type) or an output imports anything
 * that is neither a file of the package nor one of its declared dependencies.
 *
 * ```sh
 * deno run -A clients/js/build.ts --pack <dir>   # writes <dir>/stowage-client-<version>.tgz
 * deno run -A clients/js/build.ts --out <dir>    # writes the package folder only
 * ```
 */
import ts from "typescript";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ENTRY = join(HERE, "mod.ts");
const NPM = join(HERE, "npm");

/** What a build wrote. */
export interface BuiltPackage {
  /** The package folder (holds package.json). */
  dir: string;
  name: string;
  version: string;
  /** Paths relative to `dir`, sorted. */
  files: string[];
}

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  types: [],
  strict: true,
  declaration: true,
  allowImportingTsExtensions: true,
  rewriteRelativeImportExtensions: true,
  skipLibCheck: true,
  removeComments: false,
  newLine: ts.NewLineKind.LineFeed,
};

function inPackage(fileName: string): boolean {
  const rel = relative(HERE, fileName);
  return !rel.startsWith("..") && !rel.includes("/") && rel.endsWith(".ts") &&
    !rel.endsWith(".d.ts");
}

/** `./errors.ts` -> `./errors.js` in emitted JS and declarations. */
function jsSpecifiers(text: string): string {
  return text.replace(
    /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+)\.ts(["'])/g,
    (_, head, path, tail) => `${head}${path}.js${tail}`,
  );
}

function nullish(type: ts.Type): number {
  return type.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null) ? 1 : 0;
}

function isIdentifier(name: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name);
}

/** Writes a type out structurally, with no reference to where it came from. */
class TypeWriter {
  /** Types already exported under a name, written as that name when met again. */
  readonly named = new Map<ts.Type, string>();

  constructor(private checker: ts.TypeChecker, private where: string) {}

  write(type: ts.Type, indent = "", depth = 0): string {
    const c = this.checker;
    const f = type.flags;
    const name = depth > 0 ? this.named.get(type) : undefined;
    if (name) return name;
    if (depth > 25) {
      throw this.fail(type, "nested too deeply (a recursive type?)");
    }
    if (f & ts.TypeFlags.Any) throw this.fail(type, "is `any`");
    if (f & ts.TypeFlags.Unknown) return "unknown";
    if (f & ts.TypeFlags.Never) return "never";
    if (f & ts.TypeFlags.String) return "string";
    if (f & ts.TypeFlags.Number) return "number";
    if (f & ts.TypeFlags.BigInt) return "bigint";
    if (f & ts.TypeFlags.Boolean) return "boolean";
    if (f & ts.TypeFlags.Null) return "null";
    if (f & ts.TypeFlags.Undefined) return "undefined";
    if (f & ts.TypeFlags.Void) return "void";
    if (f & (ts.TypeFlags.StringLiteral | ts.TypeFlags.NumberLiteral)) {
      return JSON.stringify((type as ts.LiteralType).value);
    }
    if (f & ts.TypeFlags.BooleanLiteral) return c.typeToString(type);
    if (f & ts.TypeFlags.TemplateLiteral) return c.typeToString(type);
    if (type.isUnion()) {
      // undefined and null last, as people write them
      const members = [...type.types].sort((a, b) => nullish(a) - nullish(b));
      const hasTrue = members.some((m) =>
        m.flags & ts.TypeFlags.BooleanLiteral && c.typeToString(m) === "true"
      );
      const hasFalse = members.some((m) =>
        m.flags & ts.TypeFlags.BooleanLiteral && c.typeToString(m) === "false"
      );
      const parts: string[] = [];
      for (const m of members) {
        if (hasTrue && hasFalse && m.flags & ts.TypeFlags.BooleanLiteral) {
          if (!parts.includes("boolean")) parts.push("boolean");
          continue;
        }
        const text = this.write(m, indent, depth + 1);
        parts.push(/^\(|=>|^[^{[]*\s&\s/.test(text) ? `(${text})` : text);
      }
      return parts.join(" | ");
    }
    if (c.isTupleType(type)) {
      const args = c.getTypeArguments(type as ts.TypeReference);
      return `[${args.map((a) => this.write(a, indent, depth + 1)).join(", ")}]`;
    }
    if (c.isArrayType(type)) {
      const [element] = c.getTypeArguments(type as ts.TypeReference);
      const text = this.write(element, indent, depth + 1);
      const readonly = (type as ts.TypeReference).target?.symbol?.name === "ReadonlyArray";
      return `${readonly ? "readonly " : ""}Array<${text}>`;
    }
    if (f & ts.TypeFlags.Object || type.isIntersection()) {
      if (
        type.getCallSignatures().length || type.getConstructSignatures().length
      ) {
        throw this.fail(type, "has call signatures");
      }
      const inner = indent + "  ";
      const lines: string[] = [];
      for (const info of c.getIndexInfosOfType(type)) {
        const key = this.write(info.keyType, inner, depth + 1);
        lines.push(
          `${inner}${info.isReadonly ? "readonly " : ""}[key: ${key}]: ${
            this.write(info.type, inner, depth + 1)
          };`,
        );
      }
      for (const prop of c.getPropertiesOfType(type)) {
        const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
        const name = isIdentifier(prop.name) ? prop.name : JSON.stringify(prop.name);
        const propType = c.getTypeOfSymbol(prop);
        lines.push(
          `${inner}${name}${optional ? "?" : ""}: ${this.write(propType, inner, depth + 1)};`,
        );
      }
      return lines.length ? `{\n${lines.join("\n")}\n${indent}}` : "{}";
    }
    throw this.fail(type, "is of a kind the build cannot write out");
  }

  private fail(type: ts.Type, why: string): Error {
    return new Error(
      `Cannot write out the type ${this.checker.typeToString(type)} in ${this.where}: it ${why}`,
    );
  }
}

/** The comment block right before a statement (its JSDoc), or "". */
function leadingComment(source: ts.SourceFile, node: ts.Node): string {
  const ranges = ts.getLeadingCommentRanges(source.text, node.getFullStart()) ??
    [];
  return ranges.map((r) => source.text.slice(r.pos, r.end)).join("\n");
}

function moduleSpecifierOf(statement: ts.Statement): string | undefined {
  if (
    (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
    statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
  ) {
    return statement.moduleSpecifier.text;
  }
  return undefined;
}

/** Whether a module specifier in a package source points outside the package. */
function isExternal(source: ts.SourceFile, specifier: string): boolean {
  if (!specifier.startsWith(".")) return true;
  return !inPackage(resolve(dirname(source.fileName), specifier));
}

/**
 * The declarations of a module whose exports are all types, written out:
 * `export type Name = { ...structural... }` for each, with its JSDoc.
 */
function writeTypesModule(
  source: ts.SourceFile,
  checker: ts.TypeChecker,
): string {
  const name = relative(HERE, source.fileName);
  const writer = new TypeWriter(checker, `clients/js/${name}`);
  const out = [
    `// Written out by clients/js/build.ts from clients/js/${name}: the functions' schema types.`,
  ];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) continue;
    if (
      !ts.isTypeAliasDeclaration(statement) &&
      !ts.isInterfaceDeclaration(statement)
    ) {
      throw new Error(
        `Cannot build clients/js/${name}: it imports from outside the package, so it may hold ` +
          `only type aliases and interfaces (found ${ts.SyntaxKind[statement.kind]})`,
      );
    }
    const exported = statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (statement.typeParameters?.length) {
      throw new Error(
        `Cannot write out generic type ${statement.name.text} in ${name}`,
      );
    }
    const symbol = checker.getSymbolAtLocation(statement.name)!;
    const type = checker.getDeclaredTypeOfSymbol(symbol);
    const doc = leadingComment(source, statement);
    if (doc) out.push(doc);
    out.push(`export type ${statement.name.text} = ${writer.write(type)};`);
    if (!writer.named.has(type)) writer.named.set(type, statement.name.text);
  }
  return out.join("\n") + "\n";
}

/**
 * A module that imports some types from outside the package: its own
 * declaration output, with each such import replaced by the type written out.
 */
function inlineExternalImports(
  source: ts.SourceFile,
  declarations: string,
  checker: ts.TypeChecker,
  allowed: Set<string>,
): string {
  const name = relative(HERE, source.fileName);
  const writer = new TypeWriter(checker, `clients/js/${name}`);
  const inlined: string[] = [];
  const externalSpecifiers = new Set<string>();
  for (const statement of source.statements) {
    const specifier = moduleSpecifierOf(statement);
    if (
      !specifier || !isExternal(source, specifier) || allowed.has(specifier)
    ) continue;
    if (!ts.isImportDeclaration(statement)) {
      throw new Error(
        `Cannot build clients/js/${name}: it re-exports "${specifier}"`,
      );
    }
    const clause = statement.importClause;
    const named = clause?.namedBindings;
    if (!clause || clause.name || !named || !ts.isNamedImports(named)) {
      throw new Error(
        `Cannot build clients/js/${name}: import "${specifier}" by name, types only`,
      );
    }
    for (const element of named.elements) {
      const local = element.name.text;
      let symbol = checker.getSymbolAtLocation(element.name)!;
      if (symbol.flags & ts.SymbolFlags.Alias) {
        symbol = checker.getAliasedSymbol(symbol);
      }
      if (
        !(symbol.flags & (ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Interface))
      ) {
        throw new Error(
          `Cannot build clients/js/${name}: "${local}" from "${specifier}" is not a type`,
        );
      }
      inlined.push(
        `/** Written out by the build from ${specifier}. */\n` +
          `type ${local} = ${writer.write(checker.getDeclaredTypeOfSymbol(symbol))};`,
      );
    }
    externalSpecifiers.add(specifier);
  }
  const emitted = ts.createSourceFile(
    "x.d.ts",
    declarations,
    ts.ScriptTarget.ES2022,
    true,
  );
  let text = declarations;
  for (const statement of [...emitted.statements].reverse()) {
    const specifier = moduleSpecifierOf(statement);
    if (
      specifier &&
      [...externalSpecifiers].some((s) => specifier.startsWith(s.replace(/\.ts$/, "")))
    ) {
      text = text.slice(0, statement.getFullStart()) +
        text.slice(statement.getEnd());
    }
  }
  return `${inlined.join("\n")}\n${text.replace(/^\n+/, "")}`;
}

/** Every module specifier a JS or declaration file imports or re-exports. */
function specifiersOf(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(
    fileName,
    text,
    ts.ScriptTarget.ES2022,
    true,
  );
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) {
        found.push(arg.literal.text);
      }
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] && ts.isStringLiteral(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * Builds the package into `outDir` (emptied first): `dist/*.js`, `dist/*.d.ts`,
 * `package.json` and `README.md`.
 * @throws Error naming the file and the reason when the sources do not compile
 *   or an output would reach outside the package
 */
export async function buildPackage(outDir: string): Promise<BuiltPackage> {
  const manifest = JSON.parse(
    await Deno.readTextFile(join(NPM, "package.json")),
  ) as Manifest;
  const allowed = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  const host = ts.createCompilerHost(COMPILER_OPTIONS);
  const program = ts.createProgram({
    rootNames: [ENTRY],
    options: COMPILER_OPTIONS,
    host,
  });
  const checker = program.getTypeChecker();
  const sources = program.getSourceFiles().filter((s) => inPackage(s.fileName));
  const problems = sources.flatMap((s) => [
    ...program.getSyntacticDiagnostics(s),
    ...program.getSemanticDiagnostics(s),
  ]);
  if (problems.length) {
    throw new Error(
      `Cannot build the client: it does not compile\n${
        ts.formatDiagnostics(problems, {
          getCanonicalFileName: (f) => f,
          getCurrentDirectory: () => HERE,
          getNewLine: () => "\n",
        })
      }`,
    );
  }

  const out = new Map<string, string>();
  for (const source of sources) {
    const base = relative(HERE, source.fileName).replace(/\.ts$/, "");
    let js = "";
    let dts = "";
    const result = program.emit(source, (fileName, text) => {
      if (fileName.endsWith(".d.ts")) dts = text;
      else if (fileName.endsWith(".js")) js = text;
    });
    if (result.emitSkipped) {
      throw new Error(`Cannot build clients/js/${base}.ts: emit skipped`);
    }
    const external = source.statements.some((s) => {
      const specifier = moduleSpecifierOf(s);
      return specifier !== undefined && isExternal(source, specifier) &&
        !allowed.has(specifier);
    });
    if (external) {
      const typesOnly = source.statements.every((s) =>
        ts.isImportDeclaration(s) || ts.isTypeAliasDeclaration(s) ||
        ts.isInterfaceDeclaration(s)
      );
      dts = typesOnly
        ? writeTypesModule(source, checker)
        : inlineExternalImports(source, dts, checker, allowed);
    }
    out.set(`dist/${base}.js`, jsSpecifiers(js));
    out.set(`dist/${base}.d.ts`, jsSpecifiers(dts));
  }

  for (const [path, text] of out) {
    for (const specifier of specifiersOf(path, text)) {
      const ok = specifier.startsWith("./") ? out.has(join("dist", specifier)) : allowed.has(
        specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join(
          "/",
        ),
      );
      if (!ok) {
        throw new Error(
          `Cannot build the client: ${path} imports "${specifier}", which is neither a file ` +
            `of the package nor a dependency in clients/js/npm/package.json`,
        );
      }
    }
    if (path.endsWith(".d.ts") && /\bDeno\./.test(text)) {
      throw new Error(`Cannot build the client: ${path} mentions Deno's types`);
    }
  }

  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(join(outDir, "dist"), { recursive: true });
  for (const [path, text] of out) {
    await Deno.writeTextFile(join(outDir, path), text);
  }
  await Deno.copyFile(join(NPM, "package.json"), join(outDir, "package.json"));
  await Deno.copyFile(join(NPM, "README.md"), join(outDir, "README.md"));
  return {
    dir: outDir,
    name: manifest.name,
    version: manifest.version,
    files: ["package.json", "README.md", ...out.keys()].sort(),
  };
}

/**
 * Builds the package and packs it with `npm pack` into `destDir`.
 * @returns the tarball's absolute path
 */
export async function packPackage(destDir: string): Promise<string> {
  const staging = await Deno.makeTempDir({ prefix: "stowage-client-" });
  try {
    const built = await buildPackage(join(staging, "package"));
    await Deno.mkdir(destDir, { recursive: true });
    const dest = resolve(destDir);
    const out = await new Deno.Command("npm", {
      args: ["pack", "--json", "--pack-destination", dest],
      cwd: built.dir,
      env: { npm_config_update_notifier: "false", npm_config_fund: "false" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    if (!out.success) {
      throw new Error(`Cannot pack the client: npm pack failed\n${stderr}`);
    }
    const [{ filename }] = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      filename: string;
    }[];
    return join(dest, filename);
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
}

if (import.meta.main) {
  const [flag, dir] = Deno.args;
  if ((flag !== "--pack" && flag !== "--out") || !dir) {
    console.error(
      "usage: deno run -A clients/js/build.ts --pack <dir> | --out <dir>",
    );
    Deno.exit(2);
  }
  try {
    if (flag === "--pack") {
      console.log(await packPackage(dir));
    } else {
      const built = await buildPackage(resolve(dir));
      console.log(`built ${built.name}@${built.version} in ${built.dir}`);
      for (const file of built.files) console.log(`  ${file}`);
    }
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
