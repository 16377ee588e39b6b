import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HashedUserSchema } from '../src/event/schema.js';
import { HASHED_USER_INPUT_KEYS, RAW_USER_KEYS, hashUserData, sha256Hex } from '../src/pipeline/hash-user-data.js';

/** Independent SHA-256 of the normalized string the docs prescribe. */
const h = (normalized: string): string => createHash('sha256').update(normalized, 'utf8').digest('hex');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('hashUserData', () => {
  it('hashes known values to known digests (computed outside the code under test)', () => {
    const out = hashUserData({ email: 'John_Smith@gmail.com ', phone: '(650)555-1212', city: 'New York' }, { defaultCountry: 'US' });
    expect(out.em).toBe('62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f');
    expect(out.ph).toBe('e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176');
    expect(out.ph_e164).toBe('1e231c66011e7a2d867a9cfae267a6aff103cf4913640b6e71a99850fc0ffbc8');
    expect(out.ct).toBe('350c754ba4d38897693aa077ef43072a859d23f613443133fecbbd90a3512ca5');
  });

  it("normalizes every field as Meta documents, then hashes", () => {
    const out = hashUserData(
      {
        email: 'John_Smith@gmail.com ',
        phone: '(650)555-1212',
        first_name: 'John',
        last_name: "O'Neil",
        city: 'New York',
        state: 'California',
        zip: '94035-1234',
        country: 'United States',
        date_of_birth: '2/16/1997',
        gender: 'Male',
        external_id: '  User123 ',
      },
      { defaultCountry: 'US' },
    );
    expect(out).toEqual({
      em: h('john_smith@gmail.com'),
      ph: h('16505551212'),
      ph_e164: h('+16505551212'),
      fn: h('john'),
      ln: h('oneil'),
      ct: h('newyork'),
      st: h('ca'),
      zp: h('94035'),
      country: h('us'),
      db: h('19970216'),
      ge: h('m'),
      external_id: h('user123'),
    });
    expect(HashedUserSchema.safeParse(out).success).toBe(true);
  });

  it('handles a Brazilian customer', () => {
    const out = hashUserData(
      {
        email: 'Maria@Loja.com.br',
        phone: '+55 (11) 99999-9999',
        first_name: 'José',
        city: 'São Paulo',
        state: 'São Paulo',
        zip: '01310-100',
        country: 'Brasil',
        date_of_birth: '16/02/1997',
        gender: 'feminino',
      },
      { defaultCountry: 'BR' },
    );
    expect(out).toEqual({
      em: h('maria@loja.com.br'),
      ph: h('5511999999999'),
      ph_e164: h('+5511999999999'),
      fn: h('josé'),
      ct: h('saopaulo'),
      st: h('sp'),
      zp: h('01310100'),
      country: h('br'),
      db: h('19970216'),
      ge: h('f'),
    });
  });

  it("reads a national phone with the customer's country before the site's", () => {
    const out = hashUserData({ phone: '(11) 99999-9999', country: 'Brasil' }, { defaultCountry: 'US' });
    expect(out.ph).toBe(h('5511999999999'));
    expect(hashUserData({ phone: '(11) 99999-9999' }, { defaultCountry: 'BR' }).ph).toBe(h('5511999999999'));
    expect(hashUserData({ phone: '(650)555-1212' }, {}).ph).toBeUndefined();
  });

  it('reads ambiguous birth dates by the site country', () => {
    expect(hashUserData({ date_of_birth: '03/04/1997' }, { defaultCountry: 'US' }).db).toBe(h('19970304'));
    expect(hashUserData({ date_of_birth: '03/04/1997' }, { defaultCountry: 'BR' }).db).toBe(h('19970403'));
    expect(hashUserData({ date_of_birth: '03/04/1997' }, {}).db).toBe(h('19970304'));
  });

  it('passes a value that already is a SHA-256 through, lowercased, without re-hashing', () => {
    const upper = h('john_smith@gmail.com').toUpperCase();
    const out = hashUserData({ email: upper, phone: ` ${h('16505551212')} `, external_id: h('crm-42') }, {});
    expect(out.em).toBe(h('john_smith@gmail.com'));
    expect(out.ph).toBe(h('16505551212'));
    expect(out.ph_e164).toBeUndefined();
    expect(out.external_id).toBe(h('crm-42'));
  });

  it('accepts *_sha256 keys only when they are 64-hex', () => {
    const out = hashUserData(
      {
        email_sha256: h('a@b.com').toUpperCase(),
        phone_sha256: h('5511999999999'),
        first_name_sha256: 'not-a-hash',
        last_name_sha256: h('x').slice(0, 63),
        zip_sha256: 12345,
      },
      {},
    );
    expect(out).toEqual({ em: h('a@b.com'), ph: h('5511999999999') });
  });

  it('prefers cleartext over *_sha256, and falls back to *_sha256 when cleartext is invalid', () => {
    expect(hashUserData({ email: 'a@b.com', email_sha256: h('other@b.com') }, {}).em).toBe(h('a@b.com'));
    expect(hashUserData({ email: 'nope', email_sha256: h('other@b.com') }, {}).em).toBe(h('other@b.com'));
  });

  it('drops empty and invalid values instead of hashing them', () => {
    const out = hashUserData(
      {
        email: 'not-an-email',
        phone: '123',
        first_name: '   ',
        last_name: '',
        city: '...',
        country: 'Atlantis',
        date_of_birth: '1997-02-30',
        gender: 'unknown',
        external_id: ' ',
      },
      { defaultCountry: 'US' },
    );
    expect(out).toEqual({});
    expect(JSON.stringify(out)).not.toContain(h(''));
  });

  it('accepts numbers and takes the first element of arrays', () => {
    const out = hashUserData({ phone: 5511999999999, zip: 94035, email: ['First@x.com', 'second@x.com'], external_id: 42 }, {});
    expect(out.ph).toBe(h('5511999999999'));
    expect(out.zp).toBe(h('94035'));
    expect(out.em).toBe(h('first@x.com'));
    expect(out.external_id).toBe(h('42'));
  });

  it('ignores non-scalar values', () => {
    const out = hashUserData({ email: { value: 'a@b.com' }, first_name: true, city: null, last_name: Number.NaN }, {});
    expect(out).toEqual({});
  });

  it('uses the customer country to read a US ZIP and state', () => {
    const out = hashUserData({ zip: '941011234', state: 'Georgia', country: 'US' }, {});
    expect(out.zp).toBe(h('94101'));
    expect(out.st).toBe(h('ga'));
  });

  it('never logs and never leaves cleartext in its output', () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m).mockImplementation(() => {}));
    const out = hashUserData(
      { email: 'secret.person@example.com', phone: '+55 11 99999-9999', first_name: 'Secreta', city: 'Recife', external_id: 'id-777' },
      { defaultCountry: 'BR' },
    );
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    const text = JSON.stringify(out);
    for (const clear of ['secret', '99999', 'secreta', 'recife', 'id-777']) expect(text).not.toContain(clear);
  });

  it('exports the input key lists', () => {
    expect(RAW_USER_KEYS).toEqual([
      'email',
      'phone',
      'first_name',
      'last_name',
      'city',
      'state',
      'zip',
      'country',
      'date_of_birth',
      'gender',
      'external_id',
    ]);
    expect(HASHED_USER_INPUT_KEYS).toEqual(RAW_USER_KEYS.map((k) => `${k}_sha256`));
  });

  it('sha256Hex is lowercase hex SHA-256 of UTF-8', () => {
    expect(sha256Hex('josé')).toBe(h('josé'));
    expect(sha256Hex('josé')).toMatch(/^[0-9a-f]{64}$/);
  });
});
