/** React access to the store: one store per app, provided at the root. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { ExpdeskState, ExpdeskStore } from './store';

export const StoreContext = createContext<ExpdeskStore | null>(null);

export function useExpdesk<T>(selector: (state: ExpdeskState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useExpdesk outside <StoreContext.Provider>');
  return useStore(store, selector);
}

/**
 * The named fields of the store, under their own names; the component re-renders
 * only when one of them changes (a shallow comparison of the picked object).
 */
export function useExpdeskPick<K extends keyof ExpdeskState>(...keys: K[]): Pick<ExpdeskState, K> {
  return useExpdesk(
    useShallow((st) => {
      const picked = {} as Pick<ExpdeskState, K>;
      for (const k of keys) picked[k] = st[k];
      return picked;
    }),
  );
}

export function useExpdeskStore(): ExpdeskStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useExpdeskStore outside <StoreContext.Provider>');
  return store;
}
