/**
 * @module Input rules of the Storage-API double: object keys and bucket names
 * (`src/storage/limits.ts`), the literal MIME match of uploads, and a small request-schema
 * checker that words its errors as Fastify's Ajv does (with its type coercion,
 * `coerceTypes: 'array'`).
 */
import { ERRORS } from "./errors.ts";

const KEY_RE = /^[A-Za-z0-9_/!.*'() &$=@;:+,?-]*$/;
const BUCKET_RE = /^[A-Za-z0-9_!.*'() &$=@;:+,?-]*$/;

/** True when `key` is a valid object key. */
export function isValidKey(key: string): boolean {
  return key.length > 0 && KEY_RE.test(key);
}

/** Throws `InvalidKey` unless `key` is valid. */
export function mustBeValidKey(key: string): void {
  if (!isValidKey(key)) throw ERRORS.invalidKey(key);
}

/** Throws `InvalidBucketName` unless `name` is a valid bucket name (1–100 characters). */
export function mustBeValidBucketName(name: string): void {
  if (name.length === 0 || name.length > 100 || !BUCKET_RE.test(name)) {
    throw ERRORS.invalidBucketName(name);
  }
}

/**
 * The literal MIME check of `validateMimeType`: type and subtype compared exactly (so
 * `text/plain;charset=UTF-8` does not match `text/plain`), `type/*` matches any subtype.
 */
export function mustBeAllowedMime(mime: string, allowed: string[] | null | undefined): void {
  if (!allowed || allowed.length === 0) return;
  const [type, ...rest] = mime.split("/");
  const subtype = rest.join("/");
  for (const entry of allowed) {
    const [aType, ...aRest] = entry.split("/");
    const aSub = aRest.join("/");
    if (aType === type && (aSub === "*" || aSub === subtype)) return;
    if (entry === "*" || entry === "*/*") return;
  }
  throw ERRORS.invalidMimeType(mime);
}

/** One property of a request schema. */
export interface Prop {
  type: "string" | "integer" | "number" | "boolean" | "object" | "array";
  nullable?: boolean;
  minimum?: number;
  minItems?: number;
  maxItems?: number;
  items?: Prop;
  enum?: readonly string[];
  /** Nested object properties. */
  props?: Record<string, Prop>;
  required?: readonly string[];
}

/** A schema for one part of a request (`body`, `querystring`, `headers`). */
export interface Shape {
  props: Record<string, Prop>;
  required?: readonly string[];
}

const SCALARS = new Set(["string", "integer", "number", "boolean"]);

function isScalar(value: unknown): boolean {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function coerce(value: unknown, prop: Prop, path: string): unknown {
  if (value === null && prop.nullable) return null;
  // Fastify's Ajv runs with coerceTypes: 'array': a scalar where an array is expected becomes
  // a one-item array, and a one-item array where a scalar is expected becomes that item.
  if (prop.type === "array" && isScalar(value)) value = [value];
  else if (SCALARS.has(prop.type) && Array.isArray(value) && value.length === 1) {
    if (isScalar(value[0])) value = value[0];
  }
  switch (prop.type) {
    case "string":
      if (typeof value === "string") break;
      if (typeof value === "number" || typeof value === "boolean") return String(value);
      throw ERRORS.validation(`${path} must be string`);
    case "integer":
    case "number": {
      let n = value;
      if (typeof n === "string" && n.trim() !== "" && !Number.isNaN(Number(n))) n = Number(n);
      if (typeof n === "boolean") n = n ? 1 : 0;
      if (typeof n !== "number" || !Number.isFinite(n)) {
        throw ERRORS.validation(`${path} must be ${prop.type}`);
      }
      if (prop.type === "integer" && !Number.isInteger(n)) {
        throw ERRORS.validation(`${path} must be integer`);
      }
      if (prop.minimum !== undefined && n < prop.minimum) {
        throw ERRORS.validation(`${path} must be >= ${prop.minimum}`);
      }
      return n;
    }
    case "boolean":
      if (typeof value === "boolean") return value;
      if (value === "true") return true;
      if (value === "false") return false;
      throw ERRORS.validation(`${path} must be boolean`);
    case "array": {
      if (!Array.isArray(value)) throw ERRORS.validation(`${path} must be array`);
      if (prop.minItems !== undefined && value.length < prop.minItems) {
        throw ERRORS.validation(`${path} must NOT have fewer than ${prop.minItems} items`);
      }
      if (prop.maxItems !== undefined && value.length > prop.maxItems) {
        throw ERRORS.validation(`${path} must NOT have more than ${prop.maxItems} items`);
      }
      return prop.items ? value.map((v, i) => coerce(v, prop.items!, `${path}/${i}`)) : value;
    }
    case "object":
      return check(value, { props: prop.props ?? {}, required: prop.required }, path);
  }
  if (prop.enum && !prop.enum.includes(value as string)) {
    throw ERRORS.validation(`${path} must be equal to one of the allowed values`);
  }
  return value;
}

/**
 * Checks and coerces one request part; unknown properties are kept out of the result.
 * @param where `body`, `querystring` or `headers`
 */
export function check(value: unknown, shape: Shape, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw ERRORS.validation(`${where} must be object`);
  }
  const input = value as Record<string, unknown>;
  for (const name of shape.required ?? []) {
    if (input[name] === undefined) {
      throw ERRORS.validation(`${where} must have required property '${name}'`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(shape.props)) {
    if (input[name] !== undefined) out[name] = coerce(input[name], prop, `${where}/${name}`);
  }
  return out;
}
