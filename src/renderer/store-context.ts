/** React access to the store: one store per app, provided at the root. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { ExpdeskState, ExpdeskStore } from './store';

export const StoreContext = createContext<ExpdeskStore | null>(null);

export function useExpdesk<T>(selector: (state: ExpdeskState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useExpdesk outside <StoreContext.Provider>');
  return useStore(store, selector);
}

export function useExpdeskStore(): ExpdeskStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useExpdeskStore outside <StoreContext.Provider>');
  return store;
}
