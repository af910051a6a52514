// Adds the technician page's texts to the shared tables that t() reads.

import { EN } from '../lib/strings-en.js';
import { ZH } from '../lib/strings-zh.js';
import { TECHX_EN, TECHX_ZH } from './strings.js';

Object.assign(ZH, TECHX_ZH);
Object.assign(EN, TECHX_EN);
