// A small JSON Schema (2020-12 subset) validator: enough to check real API responses
// against the served OpenAPI document without another dependency. Supports $ref to
// `#/...`, type, const, enum, properties, required, additionalProperties,
// patternProperties, items, anyOf/oneOf/allOf, numeric bounds, string length and pattern,
// array length, format date-time.

export type Schema = Record<string, unknown>;

export interface SchemaProblem {
  path: string;
  message: string;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, type: string): boolean {
  const actual = typeOf(v);
  return actual === type || (type === 'number' && actual === 'integer');
}

function resolvePointer(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (node === undefined) throw new Error(`unresolvable $ref ${ref}`);
  }
  return node as Schema;
}

export function validate(root: Schema, schema: Schema, value: unknown, path = '$'): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const add = (message: string, at = path) => problems.push({ path: at, message });

  if (typeof schema['$ref'] === 'string') problems.push(...validate(root, resolvePointer(root, schema['$ref']), value, path));

  const type = schema['type'];
  if (type !== undefined) {
    const types = Array.isArray(type) ? (type as string[]) : [type as string];
    if (!types.some((t) => matchesType(value, t))) {
      add(`expected ${types.join('|')}, got ${typeOf(value)}`);
      return problems;
    }
  }
  if ('const' in schema && JSON.stringify(schema['const']) !== JSON.stringify(value)) add(`expected const ${JSON.stringify(schema['const'])}`);
  if (Array.isArray(schema['enum']) && !(schema['enum'] as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    add(`not one of ${JSON.stringify(schema['enum'])}`);
  }

  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum']) add(`below minimum ${schema['minimum']}`);
    if (typeof schema['maximum'] === 'number' && value > schema['maximum']) add(`above maximum ${schema['maximum']}`);
    if (typeof schema['exclusiveMinimum'] === 'number' && value <= schema['exclusiveMinimum']) add('not above exclusiveMinimum');
    if (typeof schema['exclusiveMaximum'] === 'number' && value >= schema['exclusiveMaximum']) add('not below exclusiveMaximum');
  }
  if (typeof value === 'string') {
    if (typeof schema['minLength'] === 'number' && value.length < schema['minLength']) add('too short');
    if (typeof schema['maxLength'] === 'number' && value.length > schema['maxLength']) add('too long');
    if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern'], 'u').test(value)) add(`does not match ${schema['pattern']}`);
    if (schema['format'] === 'date-time' && Number.isNaN(Date.parse(value))) add('not a date-time');
  }
  if (Array.isArray(value)) {
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) add('too few items');
    if (typeof schema['maxItems'] === 'number' && value.length > schema['maxItems']) add('too many items');
    if (schema['items'] && typeof schema['items'] === 'object') {
      value.forEach((item, i) => problems.push(...validate(root, schema['items'] as Schema, item, `${path}[${i}]`)));
    }
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema['properties'] ?? {}) as Record<string, Schema>;
    const patterns = Object.entries((schema['patternProperties'] ?? {}) as Record<string, Schema>).map(
      ([p, s]) => [new RegExp(p, 'u'), s] as const,
    );
    for (const key of (schema['required'] ?? []) as string[]) if (!(key in obj)) add(`missing required "${key}"`);
    for (const [key, v] of Object.entries(obj)) {
      const at = `${path}.${key}`;
      let known = false;
      if (props[key]) {
        known = true;
        problems.push(...validate(root, props[key], v, at));
      }
      for (const [re, s] of patterns) {
        if (re.test(key)) {
          known = true;
          problems.push(...validate(root, s, v, at));
        }
      }
      if (!known) {
        const extra = schema['additionalProperties'];
        if (extra === false) add(`unexpected property "${key}"`, at);
        else if (extra && typeof extra === 'object') problems.push(...validate(root, extra as Schema, v, at));
      }
    }
  }
  for (const sub of (schema['allOf'] ?? []) as Schema[]) problems.push(...validate(root, sub, value, path));
  if (Array.isArray(schema['anyOf'])) {
    const branches = (schema['anyOf'] as Schema[]).map((s) => validate(root, s, value, path));
    if (!branches.some((b) => b.length === 0)) add(`matches no anyOf branch: ${branches.map((b) => b[0]?.message).join(' / ')}`);
  }
  if (Array.isArray(schema['oneOf'])) {
    const ok = (schema['oneOf'] as Schema[]).filter((s) => validate(root, s, value, path).length === 0).length;
    if (ok !== 1) add(`matches ${ok} oneOf branches, expected 1`);
  }
  return problems;
}

/** Every `$ref` in the document, to check that each resolves. */
export function collectRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => collectRefs(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

export { resolvePointer };

/** Problems of a real response body against what the OpenAPI document says it returns. */
export function checkResponse(doc: Schema, path: string, method: string, status: number, body: unknown): SchemaProblem[] {
  const op = ((doc['paths'] as Record<string, Record<string, Schema>>)[path] ?? {})[method];
  if (!op) return [{ path: '$', message: `no ${method.toUpperCase()} ${path} in the document` }];
  const response = (op['responses'] as Record<string, Schema>)[String(status)];
  if (!response) return [{ path: '$', message: `status ${status} is not documented for ${method.toUpperCase()} ${path}` }];
  const schema = ((response['content'] as Record<string, Schema> | undefined)?.['application/json'] as Schema | undefined)?.['schema'];
  if (!schema) return [{ path: '$', message: `no JSON schema for ${status}` }];
  return validate(doc, schema as Schema, body);
}
