import { describe, expect, it } from 'vitest';
import {
  normalizeCity,
  normalizeCountry,
  normalizeDateOfBirth,
  normalizeEmail,
  normalizeExternalId,
  normalizeFirstName,
  normalizeGender,
  normalizeLastName,
  normalizeName,
  normalizePhone,
  normalizeState,
  normalizeZip,
} from '../src/pipeline/normalize-pii.js';

describe('normalizeEmail', () => {
  it("follows Meta's example: trim and lowercase", () => {
    expect(normalizeEmail('John_Smith@gmail.com ')).toBe('john_smith@gmail.com');
    expect(normalizeEmail('  Test.User+Tag@EXAMPLE.COM  ')).toBe('test.user+tag@example.com');
    expect(normalizeEmail('maria@loja.com.br')).toBe('maria@loja.com.br');
  });

  it('keeps gmail dots (that rule is Google/Reddit only, not Meta)', () => {
    expect(normalizeEmail('J.Smith@Gmail.com')).toBe('j.smith@gmail.com');
  });

  it.each(['', '   ', 'invalid-email', 'a@b', 'a@@b.com', 'john@gmail..com', '.john@gmail.com', 'john.@gmail.com', 'john smith@gmail.com', '@gmail.com', 'john@'])(
    'rejects %j',
    (value) => {
      expect(normalizeEmail(value)).toBeUndefined();
    },
  );

  it('rejects absurdly long input', () => {
    expect(normalizeEmail(`${'a'.repeat(300)}@example.com`)).toBeUndefined();
  });
});

describe('normalizePhone', () => {
  it("follows Meta's US example with the site's default country", () => {
    expect(normalizePhone('(650)555-1212', 'US')).toEqual({ digits: '16505551212', e164: '+16505551212' });
    expect(normalizePhone('650-555-1212', 'us')).toEqual({ digits: '16505551212', e164: '+16505551212' });
  });

  it("follows Meta's Brazilian example", () => {
    expect(normalizePhone('+55 (11) 99999-9999')).toEqual({ digits: '5511999999999', e164: '+5511999999999' });
    expect(normalizePhone('+55 (11) 99999-9999', 'US')).toEqual({ digits: '5511999999999', e164: '+5511999999999' });
  });

  it('accepts the 00 international prefix', () => {
    expect(normalizePhone('0055 11 99999-9999', 'BR')?.digits).toBe('5511999999999');
    expect(normalizePhone('00 1 650 555 1212')?.digits).toBe('16505551212');
  });

  it('reads national numbers with the default country, dropping trunk zeros', () => {
    expect(normalizePhone('(11) 99999-9999', 'BR')?.digits).toBe('5511999999999');
    expect(normalizePhone('(011) 99999-9999', 'BR')?.digits).toBe('5511999999999');
    expect(normalizePhone('07911 123456', 'GB')?.digits).toBe('447911123456');
  });

  it('accepts digits that already carry the country code', () => {
    expect(normalizePhone('5511999999999', 'BR')?.digits).toBe('5511999999999');
    expect(normalizePhone('5511999999999')?.digits).toBe('5511999999999');
    expect(normalizePhone('16505551212', 'BR')?.digits).toBe('16505551212');
  });

  it('strips symbols, letters, (0) trunk digits and extensions', () => {
    expect(normalizePhone('+44 (0)844 412 4653')?.digits).toBe('448444124653');
    expect(normalizePhone('+55 11 99999-9999 (cel)')?.digits).toBe('5511999999999');
    expect(normalizePhone('+1 (650) 555-1212 ext. 99')?.digits).toBe('16505551212');
  });

  it.each([
    ['123', 'US'],
    ['abc', 'US'],
    ['', 'BR'],
    ['+1 111 111 1111', undefined],
    ['99999-9999', undefined],
    ['+55 11 9', undefined],
  ] as const)('rejects %j (default %s)', (value, country) => {
    expect(normalizePhone(value, country)).toBeUndefined();
  });

  it('ignores an unknown default country', () => {
    expect(normalizePhone('+55 11 99999-9999', 'XX')?.digits).toBe('5511999999999');
    expect(normalizePhone('(650)555-1212', 'XX')).toBeUndefined();
  });
});

describe('normalizeName', () => {
  it('lowercases and removes punctuation and spaces', () => {
    expect(normalizeFirstName('John')).toBe('john');
    expect(normalizeLastName("  Mary-Ann O'Neil. ")).toBe('maryannoneil');
    expect(normalizeName('John Smith')).toBe('johnsmith');
  });

  it('keeps accented and non-Latin letters (UTF-8)', () => {
    expect(normalizeFirstName('José')).toBe('josé');
    expect(normalizeFirstName('JOSÉ')).toBe('josé');
    expect(normalizeLastName('Núñez')).toBe('núñez');
    expect(normalizeLastName('Gonçalves')).toBe('gonçalves');
    expect(normalizeFirstName('李')).toBe('李');
  });

  it('composes decomposed accents (NFC) so both spellings hash alike', () => {
    expect(normalizeFirstName('Jose\u0301')).toBe('josé');
  });

  it('never returns an empty string', () => {
    expect(normalizeName('...')).toBeUndefined();
    expect(normalizeName('   ')).toBeUndefined();
  });
});

describe('normalizeCity', () => {
  it("follows Meta's example", () => {
    expect(normalizeCity('New York')).toBe('newyork');
    expect(normalizeCity('  San Francisco ')).toBe('sanfrancisco');
  });

  it('folds accents to a-z (documented choice) and drops punctuation', () => {
    expect(normalizeCity('São Paulo')).toBe('saopaulo');
    expect(normalizeCity('Sao Paulo')).toBe('saopaulo');
    expect(normalizeCity("St. John's")).toBe('stjohns');
    expect(normalizeCity('Zürich')).toBe('zurich');
    expect(normalizeCity('Straße')).toBe('strasse');
  });

  it('keeps non-Latin cities in UTF-8', () => {
    expect(normalizeCity('東京')).toBe('東京');
  });

  it('returns undefined when nothing is left', () => {
    expect(normalizeCity('--- ')).toBeUndefined();
  });
});

describe('normalizeState', () => {
  it('maps US state names to their 2-letter code', () => {
    expect(normalizeState('California')).toBe('ca');
    expect(normalizeState('  New York ')).toBe('ny');
    expect(normalizeState('CA')).toBe('ca');
    expect(normalizeState('Georgia', 'us')).toBe('ga');
  });

  it('maps Brazilian states to their UF code', () => {
    expect(normalizeState('São Paulo')).toBe('sp');
    expect(normalizeState('Rio Grande do Sul')).toBe('rs');
    expect(normalizeState('Paraná')).toBe('pr');
    expect(normalizeState('SP')).toBe('sp');
    expect(normalizeState('BR-RJ')).toBe('rj');
  });

  it('maps Canadian provinces', () => {
    expect(normalizeState('Ontario')).toBe('on');
    expect(normalizeState('Québec')).toBe('qc');
  });

  it('otherwise lowercases without punctuation or spaces', () => {
    expect(normalizeState('Bavaria')).toBe('bavaria');
    expect(normalizeState('Île-de-France')).toBe('iledefrance');
  });

  it("applies only the customer's country table", () => {
    expect(normalizeState('Pará', 'br')).toBe('pa');
    expect(normalizeState('Para', 'us')).toBe('para');
  });

  it('returns undefined for empty input', () => {
    expect(normalizeState(' ')).toBeUndefined();
    expect(normalizeState('--')).toBeUndefined();
  });
});

describe('normalizeZip', () => {
  it('keeps the first 5 digits of a US ZIP+4', () => {
    expect(normalizeZip('94035-1234')).toBe('94035');
    expect(normalizeZip('  12345-6789 ')).toBe('12345');
    expect(normalizeZip('941011234', 'us')).toBe('94101');
  });

  it('restores leading zeros lost from a US ZIP', () => {
    expect(normalizeZip('2134', 'us')).toBe('02134');
  });

  it('removes dashes and spaces elsewhere', () => {
    expect(normalizeZip('01310-100')).toBe('01310100');
    expect(normalizeZip('01310-100', 'br')).toBe('01310100');
    expect(normalizeZip('M1 1AE')).toBe('m11ae');
    expect(normalizeZip('SW1A 1AA', 'gb')).toBe('sw1a1aa');
  });

  it('returns undefined for empty input', () => {
    expect(normalizeZip('')).toBeUndefined();
    expect(normalizeZip(' - ')).toBeUndefined();
  });
});

describe('normalizeCountry', () => {
  it.each([
    ['Brazil', 'br'],
    ['Brasil', 'br'],
    ['BR', 'br'],
    ['br', 'br'],
    [' United States ', 'us'],
    ['Estados Unidos', 'us'],
    ['USA', 'us'],
    ['United States of America', 'us'],
    ['UK', 'gb'],
    ['United Kingdom', 'gb'],
    ['Reino Unido', 'gb'],
    ['Germany', 'de'],
    ['Alemanha', 'de'],
    ['Alemania', 'de'],
    ['España', 'es'],
    ['Espanha', 'es'],
    ['México', 'mx'],
    ['Côte d’Ivoire', 'ci'],
    ['Myanmar', 'mm'],
    ['Burma', 'mm'],
    ['Hong Kong', 'hk'],
    ['Turkey', 'tr'],
    ['Turquia', 'tr'],
    ['Bosnia & Herzegovina', 'ba'],
    ['Bósnia e Herzegovina', 'ba'],
  ])('%s → %s', (input, code) => {
    expect(normalizeCountry(input)).toBe(code);
  });

  it.each(['Atlantis', 'XX', 'EU', 'ZZ', '', '  '])('rejects %j', (input) => {
    expect(normalizeCountry(input)).toBeUndefined();
  });
});

describe('normalizeDateOfBirth', () => {
  const now = Date.UTC(2026, 0, 1);

  it.each([
    ['1997-02-16', '19970216'],
    ['19970216', '19970216'],
    ['2/16/1997', '19970216'],
    ['02/16/1997', '19970216'],
    ['16/02/1997', '19970216'],
    ['16.02.1997', '19970216'],
    ['1997/02/16', '19970216'],
    ['1997-02-16T00:00:00Z', '19970216'],
    ['1997-02-16T00:00:00.000-03:00', '19970216'],
    ['16021997', '19970216'],
    ['1996-02-29', '19960229'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeDateOfBirth(input, { now })).toBe(expected);
  });

  it('reads an ambiguous date month-first by default, day-first on request', () => {
    expect(normalizeDateOfBirth('03/04/1997', { now })).toBe('19970304');
    expect(normalizeDateOfBirth('03/04/1997', { now, dayFirst: true })).toBe('19970403');
    // A day > 12 wins over the option.
    expect(normalizeDateOfBirth('02/16/1997', { now, dayFirst: true })).toBe('19970216');
  });

  it.each(['1997-02-30', '02/29/1997', '13/13/1997', '1997-13-01', '00/10/1997', '97-02-16', 'Feb 16 1997', '1899-12-31', '2027-01-01', '2025-12-31x', ''])(
    'rejects %j',
    (input) => {
      expect(normalizeDateOfBirth(input, { now })).toBeUndefined();
    },
  );
});

describe('normalizeGender', () => {
  it.each([
    ['male', 'm'],
    ['  Male ', 'm'],
    ['M', 'm'],
    ['masculino', 'm'],
    ['Homem', 'm'],
    ['female', 'f'],
    ['F', 'f'],
    ['Feminino', 'f'],
    ['mulher', 'f'],
    ['Mujer', 'f'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeGender(input)).toBe(expected);
  });

  it.each(['other', 'non-binary', '', 'x'])('rejects %j', (input) => {
    expect(normalizeGender(input)).toBeUndefined();
  });
});

describe('normalizeExternalId', () => {
  it('trims and lowercases', () => {
    expect(normalizeExternalId('  User123  ')).toBe('user123');
    expect(normalizeExternalId('CRM-42')).toBe('crm-42');
  });

  it('returns undefined for empty input', () => {
    expect(normalizeExternalId('   ')).toBeUndefined();
  });
});
