// Adds the supervisor page's texts to the shared tables that t() reads.

import { EN } from '../lib/strings-en.js';
import { ZH } from '../lib/strings-zh.js';
import { QUALITY_EN, QUALITY_ZH } from './strings.js';

Object.assign(ZH, QUALITY_ZH);
Object.assign(EN, QUALITY_EN);
