// Builds the browser snippet: snippet/src/index.ts → dist/t.js (and its platform variants),
// each one small IIFE. Every byte of t.js is paid by every visitor; each build must stay
// within 2,048 B: check `gzip -9 -n -c dist/t.js | wc -c`.
//
// Detectors are compile-time features (snippet/src/build-flags.d.ts): a build carries only
// the ones it lists, so the collector can serve each site the variant for its platform
// (docs/auto-detection.md). TRAKVO_FEATURES="shopify,forms,pixels" TRAKVO_OUT=dist/x.js
// builds one custom variant instead of the standard ones.
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';

const FEATURES = ['shopify', 'shopify_thankyou', 'woo', 'jsonld', 'datalayer', 'forms', 'search_page', 'declared', 'pixels', 'mirror'];

/**
 * The standard builds (file → features), each within the budget; all of them together would
 * be ~3.4 KB. The collector serves a site the one for its platform.
 */
const VARIANTS = {
  // Any site: Lead and Search forms, checkout links, declared events, pixel bridge and mirror.
  'dist/t.js': ['forms', 'search_page', 'declared', 'pixels', 'mirror'],
  'dist/t.shopify.js': ['shopify'],
  'dist/t.woo.js': ['woo'],
  // Stores that push GA4 / Universal Analytics e-commerce events (GTM and the like).
  'dist/t.datalayer.js': ['datalayer', 'forms'],
  // Other stores with schema.org Product JSON-LD or og:type=product product pages.
  'dist/t.schema.js': ['jsonld', 'forms', 'search_page'],
};

const custom = process.env.TRAKVO_FEATURES;
const builds = custom === undefined ? VARIANTS : { [process.env.TRAKVO_OUT || 'dist/t.custom.js']: custom.split(/[\s,]+/) };

function build(file, features) {
  for (const f of features) if (f && !FEATURES.includes(f)) throw new Error(`unknown t.js feature "${f}"`);
  return {
    input: 'snippet/src/index.ts',
    output: {
      file,
      format: 'iife',
      // The sources are strict TypeScript modules; the directive would only cost bytes.
      strict: false,
      generatedCode: { preset: 'es2015', arrowFunctions: true, constBindings: true },
      sourcemap: false,
    },
    plugins: [
      typescript({
        tsconfig: './snippet/tsconfig.json',
        // A type error fails the build instead of shipping.
        noEmitOnError: true,
        compilerOptions: { noEmit: false, sourceMap: false },
      }),
      terser({
        ecma: 2017,
        compress: {
          global_defs: Object.fromEntries(FEATURES.map((f) => [`F_${f.toUpperCase()}`, features.includes(f)])),
          passes: 3,
          toplevel: true,
          pure_getters: true,
          // Sound here: the snippet patches no builtin prototype the minifier reasons about
          // (it wraps window.fetch, XMLHttpRequest.prototype.send and dataLayer.push, and
          // passes their `arguments` through unchanged), and none of its functions is
          // called with `new`. Beware unsafe_comps: it turns !(a < b) into a >= b, which
          // differs when b is undefined (see detect/gate.ts).
          unsafe: true,
          unsafe_arrows: true,
          unsafe_comps: true,
          unsafe_methods: true,
        },
        mangle: { toplevel: true },
        format: { comments: false },
      }),
    ],
  };
}

export default Object.entries(builds).map(([file, features]) => build(file, features));
