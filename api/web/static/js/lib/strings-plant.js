// Texts of the office towers' building automation plant (BACnet air handlers and chillers):
// their kinds, points and alarm categories, merged into the tables by i18n.js.

export const PLANT_ZH = {
  'category.supply_air_temperature': '送风温度超限',
  'category.filter_clogged': '过滤网需更换',
  'category.chiller_trip': '冷水机组跳机',
  'kind.air_handler': '空调箱',
  'kind.chiller': '冷水机组',
  'point.supply_air_temp': '送风温度',
  'point.fan_status': '风机运行',
  'point.filter_dp': '过滤网压差',
  'point.leaving_water_temp': '冷冻水出水温度',
  'point.run_status': '运行',
  'point.trip_alarm': '跳机报警',
};

export const PLANT_EN = {
  'category.supply_air_temperature': 'Supply air out of band',
  'category.filter_clogged': 'Filter to change',
  'category.chiller_trip': 'Chiller trip',
  'kind.air_handler': 'Air handler',
  'kind.chiller': 'Chiller',
  'point.supply_air_temp': 'Supply air',
  'point.fan_status': 'Fan running',
  'point.filter_dp': 'Filter pressure drop',
  'point.leaving_water_temp': 'Leaving water',
  'point.run_status': 'Running',
  'point.trip_alarm': 'Trip alarm',
};
