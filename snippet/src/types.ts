// Shapes shared by the snippet's modules: the public `window.trakvo` function and the
// JSON body posted to `<endpoint>/e`.

/** Properties a merchant passes with an event; `event_id` (string) overrides the minted id. */
export type Props = Record<string, unknown>;

/** An object read from the page (JSON-LD, dataLayer, Shopify globals): any shape at all. */
export type Bag = any;

/** One call as the inline stub recorded it: its `arguments`. */
export type QueuedCall = ArrayLike<unknown>;

/** `window.trakvo`: the inline stub before t.js runs, the real function after. */
export interface Trakvo {
  (name: string, props?: Props): string | undefined;
  /**
   * Before load: the stub's array of recorded calls. After load: an object whose `push`
   * sends at once, so a stub reference kept by the page still delivers its calls.
   */
  q?: QueuedCall[] | { push(call: QueuedCall): unknown };
  getVisitorId?: () => string | undefined;
  getSessionId?: () => string | undefined;
}

/** Consent as the page last declared it; 1 = granted, 0 = refused. */
export interface WireConsent {
  m: 0 | 1;
  a: 0 | 1;
}

/**
 * The wire format, one event per body. The collector's parser depends on these exact
 * keys; JSON.stringify drops the `undefined` ones, which is how optional keys are omitted.
 */
export interface WireEvent {
  /** site id */
  s: string;
  /** event name */
  n: string;
  /** event_id */
  i: string;
  /** page URL (location.href) */
  u: string;
  /** document.referrer, omitted when empty */
  r: string | undefined;
  /** document.title, omitted when empty */
  t: string | undefined;
  /** props as passed minus event_id, omitted when empty */
  p: Props | undefined;
  /** consent, omitted until the page calls trakvo('consent', …) */
  c: WireConsent | undefined;
  /** client clock, Date.now() */
  ts: number;
}

declare global {
  interface Window {
    trakvo?: Trakvo;
    // What other scripts on the page may define; read, never created, by t.js.
    fbq?: any;
    ttq?: any;
    dataLayer?: any;
    Shopify?: any;
    ShopifyAnalytics?: any;
  }
}
