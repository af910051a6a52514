// Adds the records page's texts to the shared tables that t() reads.

import { EN } from '../lib/strings-en.js';
import { ZH } from '../lib/strings-zh.js';
import { RECORDS_EN, RECORDS_ZH } from './strings.js';

Object.assign(ZH, RECORDS_ZH);
Object.assign(EN, RECORDS_EN);
