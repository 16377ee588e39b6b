import { describe, expect, it } from 'vitest';
import {
  DESTINATION_SIGNALS,
  MATCH_SIGNALS,
  MAX_MATCH_QUALITY,
  matchQuality,
  matchQualityFor,
} from '../../src/quality/match-quality.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';

const bare = () => makeEvent({ ip: undefined, user_agent: undefined, user: {}, ids: {} });

describe('matchQuality', () => {
  it('is 0 with no identifiers', () => {
    expect(matchQuality(bare())).toEqual({ score: 0, signals: [] });
  });

  it('adds the weights of the identifiers present, one decimal', () => {
    // ip 1.0 + user agent 0.5 + fbp 0.5
    const e = makeEvent({ user: {}, ids: { fbp: 'fb.1.1760000000000.123' } });
    expect(matchQuality(e)).toEqual({ score: 2, signals: ['ip', 'user_agent', 'fbp'] });
    // + email 2.5 + fbc 1.5 + external id 1.0 (the default fixture, minus visitor_id)
    const rich = makeEvent({ ids: { fbp: 'fb.1.1760000000000.1', fbc: 'fb.1.1760000000000.IwAR' } });
    expect(matchQuality(rich)).toEqual({ score: 7, signals: ['em', 'external_id', 'ip', 'user_agent', 'fbc', 'fbp'] });
  });

  it('counts a group of click ids once, at its heaviest weight', () => {
    const one = makeEvent({ ip: undefined, user_agent: undefined, user: {}, ids: { gclid: 'g' } });
    const many = makeEvent({ ip: undefined, user_agent: undefined, user: {}, ids: { gclid: 'g', ttclid: 't', msclkid: 'm', fbc: 'fb.1.1760000000000.x' } });
    expect(matchQuality(one).score).toBe(1.5);
    expect(matchQuality(many).score).toBe(1.5);
    expect(matchQuality(many).signals).toEqual(['fbc', 'ttclid', 'gclid', 'msclkid']);
    const browserIds = makeEvent({ ip: undefined, user_agent: undefined, user: {}, ids: { visitor_id: 'v', ttp: 't' } });
    expect(matchQuality(browserIds).score).toBe(0.5);
  });

  it('caps at 10 and never shows floating-point noise', () => {
    const user = Object.fromEntries(['em', 'ph', 'ph_e164', 'fn', 'ln', 'ct', 'st', 'zp', 'country', 'db', 'ge', 'external_id'].map((k) => [k, sha256Hex(k)]));
    const e = makeEvent({ user, ids: { fbc: 'fb.1.1760000000000.x', fbp: 'fb.1.1760000000000.y' } });
    expect(matchQuality(e).score).toBe(MAX_MATCH_QUALITY);
    // Address only: 0.2 + 0.2 + 0.3 + 0.2, which in binary floating point is not 0.9.
    const addr = makeEvent({ ip: undefined, user_agent: undefined, ids: {}, user: { ct: sha256Hex('c'), st: sha256Hex('s'), zp: sha256Hex('z'), country: sha256Hex('br') } });
    expect(matchQuality(addr).score).toBe(0.9);
  });

  it('ignores values a platform would drop: blank strings, a malformed IP or _fbp/_fbc', () => {
    const e = makeEvent({ ip: 'not-an-ip', user_agent: '  ', user: {}, ids: { fbp: 'garbage', fbc: 'fb.1.17600.x', gclid: ' ' } });
    expect(matchQuality(e)).toEqual({ score: 0, signals: [] });
  });

  it('counts a phone hashed in either form', () => {
    const e = makeEvent({ ip: undefined, user_agent: undefined, ids: {}, user: { ph_e164: sha256Hex('+5511999990000') } });
    expect(matchQuality(e)).toEqual({ score: 2, signals: ['ph'] });
  });
});

describe('matchQualityFor', () => {
  it('Meta: only what Meta receives (no TikTok click id, no visitor id)', () => {
    const e = makeEvent({
      user: { em: sha256Hex('a@b.co') },
      ids: { ttclid: 'tt', visitor_id: 'v', fbp: 'fb.1.1760000000000.1' },
    });
    expect(matchQualityFor(e, 'meta')).toEqual({ score: 4.5, signals: ['em', 'ip', 'user_agent', 'fbp'] });
    // The same event scored for everyone counts the click id too.
    expect(matchQuality(e).score).toBe(6);
  });

  it('TikTok: email, phone, customer id, ip, user agent, its click and browser ids', () => {
    const e = makeEvent({ ids: { ttclid: 'tt', ttp: 'ttp', fbc: 'fb.1.1760000000000.x' } });
    expect(matchQualityFor(e, 'tiktok')).toEqual({ score: 7, signals: ['em', 'external_id', 'ip', 'user_agent', 'ttclid', 'ttp'] });
  });

  it('an unknown destination type (generic webhook) is scored on everything', () => {
    const e = makeEvent();
    expect(matchQualityFor(e, 'webhook')).toEqual(matchQuality(e));
  });

  it('every listed signal is in the weight table', () => {
    const known = new Set(MATCH_SIGNALS.map((s) => s.signal));
    for (const list of Object.values(DESTINATION_SIGNALS)) for (const s of list) expect(known.has(s)).toBe(true);
  });
});
