// A modal form in a <dialog>: formDialog({title, fields, submit}) resolves to the values
// entered (files as File objects) or null when dismissed. Every field has a visible label.

import { h } from './dom.js';
import { t } from './i18n.js';

let counter = 0;

function control(field, id) {
  const common = { id, name: field.name, required: field.required, autocomplete: 'off' };
  if (field.type === 'textarea') {
    return h('textarea', { ...common, rows: 3, maxlength: 4000 }, field.value ?? '');
  }
  if (field.type === 'select') {
    return h(
      'select',
      common,
      field.options.map(([value, label]) =>
        h('option', { value, selected: value === field.value }, label),
      ),
    );
  }
  if (field.type === 'file') {
    return h('input', { ...common, type: 'file', accept: 'image/*', capture: 'environment' });
  }
  const input = h('input', {
    ...common,
    type: field.type ?? 'text',
    value: field.value ?? '',
    min: field.min,
    step: field.step,
    list: field.list,
    inputmode: field.inputmode,
  });
  return input;
}

/** Show a modal form; `fields`: [{name, label, type, required, value, options, list}];
 * `onInput(form, element)` sees every change (to fill one field from another). */
export function formDialog({ title, fields, submit, extra = null, onInput = null }) {
  const titleId = `dlg-title-${++counter}`;
  const form = h('form', { method: 'dialog', class: 'form' });
  const dialog = h(
    'dialog',
    { class: 'form-dialog', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, title),
    form,
  );
  for (const field of fields) {
    const id = `dlg-${counter}-${field.name}`;
    form.append(h('label', { for: id }, field.label), control(field, id));
  }
  if (extra) form.append(extra);
  const cancel = h('button', { type: 'button', class: 'secondary' }, t('common.back'));
  form.append(
    h('div', { class: 'buttons' }, cancel, h('button', { type: 'submit', class: 'primary' }, submit)),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    let result = null;
    cancel.addEventListener('click', () => dialog.close());
    if (onInput) form.addEventListener('input', (event) => onInput(form, event.target));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      result = {};
      for (const field of fields) {
        const el = form.elements.namedItem(field.name);
        result[field.name] = field.type === 'file' ? el.files[0] ?? null : el.value.trim();
      }
      dialog.close();
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    dialog.showModal();
  });
}
