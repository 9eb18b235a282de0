// @ts-check
// The page's texts for its alert panel (alerts.js), in English and Simplified Chinese (see i18n.js).

/** @type {import('../i18n.js').Catalogue} */
export default {
  en: {
    'panel.label': 'Alerts',
    'panel.title': 'Alerts',
    'panel.count': '({open} open, {acknowledged} acknowledged)',
    'panel.empty': 'No open alerts.',
    'sound.on': '♪ sound on',
    'sound.off': 'sound off: click to enable',
    acknowledged_by: 'Acknowledged by {who} at {time}',
    someone: 'someone',
    'note.label': 'Note',
    'note.to_acknowledge': 'Note (required to acknowledge): who was called, what they said',
    'note.to_resolve': 'Note (optional) on resolving',
    acknowledge: 'Acknowledge',
    resolve: 'Resolve',
    note_required: 'A note is required to acknowledge.',
    acknowledged: 'Acknowledged.',
    resolved: 'Resolved.',
  },
  'zh-CN': {
    'panel.label': '告警',
    'panel.title': '告警',
    'panel.count': '（{open} 条待确认，{acknowledged} 条已确认）',
    'panel.empty': '没有待处理的告警。',
    'sound.on': '♪ 提示音已开启',
    'sound.off': '提示音已关闭：点击开启',
    acknowledged_by: '{who} 于 {time} 确认',
    someone: '有人',
    'note.label': '备注',
    'note.to_acknowledge': '备注（确认时必填）：联系了谁，对方怎么说',
    'note.to_resolve': '解除时的备注（选填）',
    acknowledge: '确认',
    resolve: '解除',
    note_required: '确认告警必须填写备注。',
    acknowledged: '已确认。',
    resolved: '已解除。',
  },
};
