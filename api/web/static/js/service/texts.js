// Adds customer service's texts to the shared tables that t() reads.

import { EN } from '../lib/strings-en.js';
import { ZH } from '../lib/strings-zh.js';
import { SERVICE_EN, SERVICE_ZH } from './strings.js';

Object.assign(ZH, SERVICE_ZH);
Object.assign(EN, SERVICE_EN);
