// The guard page's own texts (zh-CN and en), merged into the shared tables by texts.js:
// strings-zh.js and strings-en.js are at the 400-line limit of a module.

export const GUARD_ZH = {
  'reinspect.title': '复查任务',
  'reinspect.due': '{date} 到期',
  'reinspect.owner': '整改人：{owner}',
  'reinspect.done': '已复查',
  'reinspect.todo': '待复查：整改完成后扫描此巡更点',
  'reinspect.waiting': '等待整改完成',
};

export const GUARD_EN = {
  'reinspect.title': 'Re-inspections',
  'reinspect.due': 'due {date}',
  'reinspect.owner': 'Owner: {owner}',
  'reinspect.done': 'Re-inspected',
  'reinspect.todo': 'To re-inspect: scan this checkpoint now the repair is done',
  'reinspect.waiting': 'Waiting for the repair',
};
