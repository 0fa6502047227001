// `node --import <this file> …` records the URL of every ES module the process loads, one a line,
// in the file EXPDESK_IMPORT_LOG names: what a command loads is then a fact a test can check.
import { register } from 'node:module';

register('./import-log-hooks.mjs', import.meta.url, { data: { file: process.env.EXPDESK_IMPORT_LOG } });
