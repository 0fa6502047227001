/**
 * Light and dark follow the OS (prefers-color-scheme; Electron maps its
 * nativeTheme onto it). CSS does the page; canvases and SVG charts read the
 * same variables here, and re-render when the scheme flips.
 */
import { useSyncExternalStore } from 'react';

export type Scheme = 'light' | 'dark';

const QUERY = '(prefers-color-scheme: dark)';

function media(): MediaQueryList | null {
  return typeof window !== 'undefined' && typeof window.matchMedia === 'function'
    ? window.matchMedia(QUERY)
    : null;
}

export function currentScheme(): Scheme {
  return media()?.matches ? 'dark' : 'light';
}

function subscribe(cb: () => void): () => void {
  const m = media();
  if (!m) return () => undefined;
  m.addEventListener('change', cb);
  return () => m.removeEventListener('change', cb);
}

export function useColorScheme(): Scheme {
  return useSyncExternalStore(subscribe, currentScheme, () => 'light');
}

/** A CSS custom property of the root, e.g. cssVar('--fg'). */
export function cssVar(name: string, fallback = ''): string {
  if (typeof document === 'undefined') return fallback;
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** Series colours, readable on both backgrounds (Okabe–Ito, colour-blind safe, then extras). */
export const SERIES_COLORS = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#8c6d31',
  '#7f7f7f',
  '#17becf',
  '#bcbd22',
];
