import { app } from '@azure/functions';

import { instanceRuntime } from '../lib/detectorRuntime';
import { createRedeliveryHandler } from '../lib/redeliveryTimerHandler';
import { SETTING_DEFAULTS } from '../lib/settings';

const runtime = instanceRuntime();

// The host resolves %REDELIVERY_SCHEDULE% from app settings and refuses to start when the
// setting is absent, so the expression is used only when it is set (loadSettings has checked
// its form) and the documented default, every minute, otherwise.
const scheduleIsSet = (process.env.REDELIVERY_SCHEDULE ?? '').trim() !== '';

app.timer('redeliverAlerts', {
  schedule: scheduleIsSet ? '%REDELIVERY_SCHEDULE%' : SETTING_DEFAULTS.REDELIVERY_SCHEDULE,
  runOnStartup: false,
  handler: createRedeliveryHandler(runtime),
});
