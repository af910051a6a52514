// Adds the group page's texts to the shared tables that t() reads.

import { EN } from '../lib/strings-en.js';
import { ZH } from '../lib/strings-zh.js';
import { GROUP_EN, GROUP_ZH } from './strings.js';

Object.assign(ZH, GROUP_ZH);
Object.assign(EN, GROUP_EN);
