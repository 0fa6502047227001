import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createClient } from './api/client';
import { createExpdeskStore } from './store';
import { StoreContext } from './store-context';
import './styles.css';

const store = createExpdeskStore(createClient());
const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');

createRoot(root).render(
  <StrictMode>
    <StoreContext.Provider value={store}>
      <App />
    </StoreContext.Provider>
  </StrictMode>,
);
// Outside React so StrictMode's double effects cannot start it twice.
void store.getState().init();
