// `node --import ./register.mjs`: the k6 modules an exported script imports, from k6.mjs.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
