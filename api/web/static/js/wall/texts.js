// Adds the wall overview's texts to the shared tables that t() reads.

import { EN } from '../lib/strings-en.js';
import { ZH } from '../lib/strings-zh.js';
import { WALL_EN, WALL_ZH } from './strings.js';

Object.assign(ZH, WALL_ZH);
Object.assign(EN, WALL_EN);
