// The group monitoring centre's texts (zh-CN and en), merged into the shared tables of
// strings-zh.js and strings-en.js when the page loads, as the records page does.
// Same keys in both; tests/web/test_pages.py checks them.

export const GROUP_ZH = {
  'app.group': '集团监控中心',
  'group.caption': '各小区状态（最需关注的排在最前）',
  'group.estate': '小区',
  'group.criticalAlarms': '紧急告警',
  'group.overdueOrders': '超时工单',
  'group.slaCompliance': '本月SLA达标率',
  'group.patrolToday': '今日巡逻完成率',
  'group.devicesOffline': '离线设备',
  'group.board': '看板',
  'group.open': '进入看板',
  'group.openLabel': '打开{name}的值班看板',
  'group.none': '没有可查看的小区',
  'group.summary': '共 {n} 个小区：{critical} 个需立即处理，{warning} 个需关注 · 更新于 {at}',
  'group.attention.critical': '立即处理',
  'group.attention.warning': '需关注',
  'group.attention.ok': '正常',
  'group.noFigure': '—',
};

export const GROUP_EN = {
  'app.group': 'Group monitoring centre',
  'group.caption': 'Estates, the one needing attention first',
  'group.estate': 'Estate',
  'group.criticalAlarms': 'Critical alarms',
  'group.overdueOrders': 'Orders past their clocks',
  'group.slaCompliance': 'SLA compliance this month',
  'group.patrolToday': 'Patrol completion today',
  'group.devicesOffline': 'Devices offline',
  'group.board': 'Board',
  'group.open': 'Open board',
  'group.openLabel': 'Open the duty board of {name}',
  'group.none': 'No estate to show',
  'group.summary': '{n} estates: {critical} need action now, {warning} need attention · updated {at}',
  'group.attention.critical': 'act now',
  'group.attention.warning': 'attention',
  'group.attention.ok': 'normal',
  'group.noFigure': '—',
};
