// Browser globals and repeated strings, aliased once so the minifier can shorten every use.
export const win = window;
export const doc = document;
export const loc = location;
export const nav = navigator;

export const PAGE_VIEW = 'PageView';
export const CONSENT = 'consent';
