// A small parser of the Prometheus text exposition format (version 0.0.4), strict enough
// that a malformed scrape fails the test: every sample belongs to a family with # TYPE,
// label values are quoted and unescaped, values are numbers (or ±Inf / NaN, any case, as
// Prometheus accepts; prom-client writes an unmeasured value as `Nan`).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

/** As Prometheus reads it (Go's ParseFloat): Inf and NaN in any letter case. */
function parseValue(s: string): number {
  const lower = s.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad sample value "${s}"`);
  return Number(s);
}

function parseLabels(s: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  while (s[i] !== '}') {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(s.slice(i));
    if (!m) throw new Error(`bad label in: ${line}`);
    i += m[0].length;
    let value = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      i += 1;
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i];
        i += 1;
        value += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : `\\${e ?? ''}`;
      } else value += c;
    }
    labels[m[1]!] = value;
    if (s[i] === ',') i += 1;
  }
  return { labels, rest: s.slice(i + 1) };
}

/** Families by name; histogram samples (_bucket, _sum, _count) belong to their base family. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: '', help: '', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (!m) continue; // other comments are allowed
      if (m[1] === 'HELP') family(m[2]!).help = m[3]!;
      else family(m[2]!).type = m[3]!;
      continue;
    }
    const nameMatch = NAME.exec(line);
    if (!nameMatch) throw new Error(`bad sample line: ${line}`);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2) throw new Error(`bad sample line: ${line}`);
    const value = parseValue(parts[0]!);
    const base = families.has(name) ? name : name.replace(/_(bucket|sum|count|total|created)$/, '');
    const f = families.get(base) ?? families.get(name);
    if (!f || !f.type) throw new Error(`sample without # TYPE: ${line}`);
    f.samples.push({ name, labels, value });
  }
  return families;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
