// Texts of the work-order actions added after the first tables filled up (a technician
// declining an order or handing it back, issue #25), merged into the tables by i18n.js:
// the dashboard, the technician's and customer service's pages all label these actions.

export const ORDERS_ZH = {
  'action.reject': '退单',
  'action.hand_back': '退回值班室',
  'field.name': '名称',
  'field.quantity': '数量',
  'field.unit': '单位',
  'field.photo_refs': '照片',
  'order.returned': '已退回值班室重新派单',
  'order.returnedWhy.reject': '退单（{by}）：{reason}',
  'order.returnedWhy.hand_back': '退回（{by}）：{reason}',
};

export const ORDERS_EN = {
  'action.reject': 'Decline',
  'action.hand_back': 'Hand back',
  'field.name': 'Name',
  'field.quantity': 'Quantity',
  'field.unit': 'Unit',
  'field.photo_refs': 'Photos',
  'order.returned': 'Returned to the duty room for re-dispatch',
  'order.returnedWhy.reject': 'Declined by {by}: {reason}',
  'order.returnedWhy.hand_back': 'Handed back by {by}: {reason}',
};
