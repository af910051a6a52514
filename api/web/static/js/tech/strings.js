// The technician page's added texts (zh-CN and en), merged into the shared tables when the
// page loads (strings-zh.js and strings-en.js are at a module's 400-line limit). Same keys
// in both; tests/web/test_pages.py checks them.

export const TECHX_ZH = {
  'techx.readings': '设备实时读数',
  'techx.noReadings': '暂无读数',
  'techx.note': '留言给值班室',
  'techx.noteText': '留言内容',
  'techx.send': '发送',
  'techx.sent': '留言已发送给值班室',
};

export const TECHX_EN = {
  'techx.readings': 'Live readings of the device',
  'techx.noReadings': 'No readings',
  'techx.note': 'Note to the duty room',
  'techx.noteText': 'Note',
  'techx.send': 'Send',
  'techx.sent': 'Note sent to the duty room',
};
