// Starts the app. Trunk's default loader is an inline script, which the page's
// Content-Security-Policy forbids; Trunk.toml's pattern_script points here instead and
// passes the hashed file names as data attributes.
const tag = document.querySelector('script[data-wasm]');
try {
  const bindings = await import(tag.dataset.js);
  await bindings.default({ module_or_path: tag.dataset.wasm });
  window.wasmBindings = bindings;
  // The offline cache (sw.js): once this page has loaded, the app opens without a network. Not
  // where service workers are unavailable (file://, a private window in some browsers).
  if ('serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker.register('./sw.js').catch((e) => console.warn(`QuantScope works online only here: ${e}`));
  }
} catch (err) {
  const banner = document.createElement('div');
  banner.id = 'error-banner';
  banner.setAttribute('role', 'alert');
  banner.textContent = `QuantScope could not start: ${err}. It needs a browser with WebAssembly.`;
  document.body.prepend(banner);
  throw err;
}
