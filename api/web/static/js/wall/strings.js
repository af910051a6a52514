// The wall overview's texts (zh-CN and en), merged into the shared tables when the page
// loads (strings-zh.js and strings-en.js are at a module's 400-line limit). Same keys in
// both; tests/web/test_pages.py checks them.

export const WALL_ZH = {
  'app.wall': '值班总览',
  'wall.board': '值班看板',
  'wall.alarms': '告警',
  'wall.clocks': '即将超时的工单',
  'wall.noClocks': '暂无计时中的工单',
  'wall.patrol': '巡逻进度',
  'wall.noRounds': '本班暂无巡逻轮次',
  'wall.round': '{route} {start}–{end} · {percent}%',
  'wall.missed': '漏巡 {n} 处',
  'wall.equipment': '设备状态（按机房）',
  'wall.history': '历史告警与工单',
  'wall.search': '搜索',
  'wall.find': '查询',
  'wall.noHistory': '没有找到',
  'wall.left': '剩余 {left}',
  'wall.over': '已超时 {left}',
  'wall.comment': '{by}：{note}',
  'wall.since': '{time} 起',
  'wall.alarmKind': '告警',
  'wall.orderKind': '工单',
};

export const WALL_EN = {
  'app.wall': 'Duty overview',
  'wall.board': 'Duty board',
  'wall.alarms': 'Alarms',
  'wall.clocks': 'Clocks about to run out',
  'wall.noClocks': 'No order on the clock',
  'wall.patrol': 'Patrol progress',
  'wall.noRounds': 'No round in this shift',
  'wall.round': '{route} {start}–{end} · {percent}%',
  'wall.missed': '{n} missed',
  'wall.equipment': 'Equipment by room',
  'wall.history': 'Alarm and order history',
  'wall.search': 'Search',
  'wall.find': 'Find',
  'wall.noHistory': 'Nothing found',
  'wall.left': '{left} left',
  'wall.over': '{left} overdue',
  'wall.comment': '{by}: {note}',
  'wall.since': 'since {time}',
  'wall.alarmKind': 'Alarm',
  'wall.orderKind': 'Order',
};
