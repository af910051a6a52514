// Adds the guard page's texts to the shared tables that t() reads.

import { EN } from '../lib/strings-en.js';
import { ZH } from '../lib/strings-zh.js';
import { GUARD_EN, GUARD_ZH } from './strings.js';

Object.assign(ZH, GUARD_ZH);
Object.assign(EN, GUARD_EN);
