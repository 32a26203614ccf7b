// jsdom has no matchMedia; the theme follows prefers-color-scheme through CSS only, but be safe.
if (!window.matchMedia) {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      addEventListener() {},
      removeEventListener() {},
      // xterm.js still uses the old listener API to follow the device pixel ratio.
      addListener() {},
      removeListener() {},
    }) as unknown as MediaQueryList;
}
// jsdom has no canvas; xterm.js measures with one when it can and falls back to the DOM.
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;
