// Adds the admin page's texts to the shared tables that t() reads.

import { EN } from '../lib/strings-en.js';
import { ZH } from '../lib/strings-zh.js';
import { ADMIN_EN, ADMIN_ZH } from './strings.js';

Object.assign(ZH, ADMIN_ZH);
Object.assign(EN, ADMIN_EN);
