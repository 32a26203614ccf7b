// jsdom has no matchMedia; the theme follows prefers-color-scheme through CSS only, but be safe.
if (!window.matchMedia) {
  window.matchMedia = (query: string) =>
    ({ matches: false, media: query, addEventListener() {}, removeEventListener() {} }) as unknown as MediaQueryList;
}
