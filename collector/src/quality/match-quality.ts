// Match quality: how well an ad platform can probably tie an event to a person who saw or
// clicked an ad, estimated from which identifiers the event carries. This is OUR ESTIMATE,
// computed from the weights below. It is not Meta's Event Match Quality (EMQ) or any other
// platform's score: those are computed by the platforms from their own matching, which no
// one outside can see. Use ours to spot events that carry too little (a checkout without
// the email, a landing without the click id), not as a prediction of the platform's number.
//
// The score is the sum of the weights of the identifiers present, capped at 10 and rounded
// to one decimal. Within a group (click ids, browser ids) only the heaviest present one
// counts, so an event with four platforms' click ids is not scored as four times as good.
import { isIP } from 'node:net';
import type { CanonicalEvent } from '../event/schema.js';

export type MatchSignal =
  | 'em' | 'ph' | 'external_id' | 'fn' | 'ln' | 'ct' | 'st' | 'zp' | 'country' | 'db' | 'ge'
  | 'ip' | 'user_agent'
  | 'fbc' | 'fbp' | 'ttclid' | 'ttp' | 'gclid' | 'ga_client_id' | 'epik' | 'sccid' | 'scid'
  | 'rdt_cid' | 'rdt_uuid' | 'msclkid' | 'li_fat_id' | 'visitor_id';

export interface MatchSignalInfo {
  signal: MatchSignal;
  /** What it is, for people (dashboard tooltips, docs). */
  label: string;
  weight: number;
  /** Present signals of one group count once, with the heaviest weight. */
  group?: 'click_id' | 'browser_id';
}

/**
 * The one table of weights (also printed in README.md). Rationale: a hashed email
 * or phone identifies a person almost uniquely; an ad click id ties the event to one ad
 * click; the merchant's customer id links events of one account; IP + user agent are the
 * baseline every platform uses; a browser cookie id links the visit to the platform's own
 * pixel; names, address, birth date and gender only narrow down an email/phone match.
 */
export const MATCH_SIGNALS: readonly MatchSignalInfo[] = [
  { signal: 'em', label: 'email (hashed)', weight: 2.5 },
  { signal: 'ph', label: 'phone (hashed)', weight: 2.0 },
  { signal: 'external_id', label: 'customer id (hashed)', weight: 1.0 },
  { signal: 'fn', label: 'first name (hashed)', weight: 0.3 },
  { signal: 'ln', label: 'last name (hashed)', weight: 0.3 },
  { signal: 'ct', label: 'city (hashed)', weight: 0.2 },
  { signal: 'st', label: 'state (hashed)', weight: 0.2 },
  { signal: 'zp', label: 'postal code (hashed)', weight: 0.3 },
  { signal: 'country', label: 'country (hashed)', weight: 0.2 },
  { signal: 'db', label: 'date of birth (hashed)', weight: 0.3 },
  { signal: 'ge', label: 'gender (hashed)', weight: 0.2 },
  { signal: 'ip', label: 'IP address', weight: 1.0 },
  { signal: 'user_agent', label: 'user agent', weight: 0.5 },
  { signal: 'fbc', label: 'Meta click id (_fbc)', weight: 1.5, group: 'click_id' },
  { signal: 'ttclid', label: 'TikTok click id', weight: 1.5, group: 'click_id' },
  { signal: 'gclid', label: 'Google click id', weight: 1.5, group: 'click_id' },
  { signal: 'epik', label: 'Pinterest click id (epik)', weight: 1.5, group: 'click_id' },
  { signal: 'sccid', label: 'Snapchat click id', weight: 1.5, group: 'click_id' },
  { signal: 'rdt_cid', label: 'Reddit click id', weight: 1.5, group: 'click_id' },
  { signal: 'msclkid', label: 'Microsoft click id', weight: 1.5, group: 'click_id' },
  { signal: 'li_fat_id', label: 'LinkedIn click id', weight: 1.5, group: 'click_id' },
  { signal: 'fbp', label: 'Meta browser id (_fbp)', weight: 0.5, group: 'browser_id' },
  { signal: 'ttp', label: 'TikTok browser id (_ttp)', weight: 0.5, group: 'browser_id' },
  { signal: 'ga_client_id', label: 'Google Analytics client id', weight: 0.5, group: 'browser_id' },
  { signal: 'scid', label: 'Snapchat browser id (_scid)', weight: 0.5, group: 'browser_id' },
  { signal: 'rdt_uuid', label: 'Reddit browser id (_rdt_uuid)', weight: 0.5, group: 'browser_id' },
  { signal: 'visitor_id', label: 'Trakvo visitor id', weight: 0.3, group: 'browser_id' },
];

export const MAX_MATCH_QUALITY = 10;

/** Plain words for any screen that shows the score. */
export const MATCH_QUALITY_DISCLAIMER =
  "Trakvo's estimate from the identifiers sent (0–10), not Meta's Event Match Quality or any platform's own score.";

/**
 * Which signals each destination type receives (see its `destinations/<type>.ts` mapping).
 * A type not listed (the generic webhook, a new platform) is scored on every signal.
 */
export const DESTINATION_SIGNALS: Readonly<Record<string, readonly MatchSignal[]>> = {
  meta: ['em', 'ph', 'external_id', 'fn', 'ln', 'ct', 'st', 'zp', 'country', 'db', 'ge', 'ip', 'user_agent', 'fbc', 'fbp'],
  tiktok: ['em', 'ph', 'external_id', 'ip', 'user_agent', 'ttclid', 'ttp'],
  ga4: ['em', 'ph', 'fn', 'ln', 'ip', 'ga_client_id'],
  pinterest: ['em', 'ph', 'external_id', 'fn', 'ln', 'ct', 'st', 'zp', 'country', 'db', 'ge', 'ip', 'user_agent', 'epik'],
  snapchat: ['em', 'ph', 'fn', 'ln', 'ct', 'st', 'zp', 'country', 'ge', 'ip', 'user_agent', 'sccid', 'scid'],
  reddit: ['em', 'ph', 'external_id', 'ip', 'user_agent', 'rdt_cid', 'rdt_uuid'],
  linkedin: ['em', 'li_fat_id'],
  microsoft: ['em', 'ph', 'external_id', 'ip', 'user_agent', 'msclkid', 'visitor_id'],
};

export interface MatchQuality {
  /** 0–10, one decimal. */
  score: number;
  /** The signals that counted, in table order. */
  signals: MatchSignal[];
}

function present(s: string | undefined): s is string {
  return s !== undefined && s.trim() !== '';
}

/** Meta ignores `_fbp`/`_fbc` values not shaped `fb.<n>.<13-digit ms>.<value>`; so do we. */
const FB_COOKIE = /^fb\.\d\.\d{13}\..+$/;

/** Whether the event carries this signal in a form a platform would use. */
function has(event: CanonicalEvent, signal: MatchSignal): boolean {
  switch (signal) {
    case 'ph':
      return present(event.user.ph) || present(event.user.ph_e164);
    case 'em': case 'external_id': case 'fn': case 'ln': case 'ct': case 'st': case 'zp': case 'country': case 'db': case 'ge':
      return present(event.user[signal]);
    case 'ip':
      return present(event.ip) && isIP(event.ip.trim()) !== 0;
    case 'user_agent':
      return present(event.user_agent);
    case 'fbc': case 'fbp': {
      const v = event.ids[signal];
      return present(v) && FB_COOKIE.test(v);
    }
    default:
      return present(event.ids[signal]);
  }
}

function score(event: CanonicalEvent, considered: ReadonlySet<MatchSignal> | undefined): MatchQuality {
  const signals: MatchSignal[] = [];
  const groupBest = new Map<string, number>();
  let sum = 0;
  for (const info of MATCH_SIGNALS) {
    if (considered && !considered.has(info.signal)) continue;
    if (!has(event, info.signal)) continue;
    signals.push(info.signal);
    if (info.group === undefined) sum += info.weight;
    else groupBest.set(info.group, Math.max(groupBest.get(info.group) ?? 0, info.weight));
  }
  for (const w of groupBest.values()) sum += w;
  return { score: Math.min(MAX_MATCH_QUALITY, Math.round(sum * 10) / 10), signals };
}

/** The estimate from every identifier the event carries, whoever receives it. */
export function matchQuality(event: CanonicalEvent): MatchQuality {
  return score(event, undefined);
}

const considered = new Map(Object.entries(DESTINATION_SIGNALS).map(([type, list]) => [type, new Set(list)]));

/** The estimate from only what a destination of this type receives (e.g. `meta`). */
export function matchQualityFor(event: CanonicalEvent, destinationType: string): MatchQuality {
  return score(event, considered.get(destinationType));
}
