/**
 * The preload (built to out/preload/index.cjs; sandboxed, so CommonJS and only
 * 'electron' may be required at run time). Exposes window.expdesk:
 *   invoke(name, params)   → Promise of the result; rejects with Error{message, code}
 *   on(event, listener)    → unsubscribe function
 *   pathForFile(file)      → absolute path of a dropped File (webUtils.getPathForFile)
 * ipcRenderer itself is never exposed.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createRawBridge } from './bridge';
import { installMainWorldApi, lossyBridge } from './main-world';

const raw = createRawBridge(ipcRenderer, (file) => webUtils.getPathForFile(file));

let installed = false;
try {
  installed = contextBridge.executeInMainWorld({ func: installMainWorldApi, args: [raw] }) === true;
} catch (err) {
  console.warn('expdesk: could not install the bridge in the page world; errors will lose their code', err);
}
if (!installed) {
  try {
    contextBridge.exposeInMainWorld('expdesk', lossyBridge(raw));
  } catch (err) {
    // Already defined: the page-world install ran but its answer was lost on the way back.
    console.warn('expdesk: window.expdesk was already installed', err);
  }
}
