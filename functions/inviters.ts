import { app } from '@azure/functions';

import { createInvitersRuntime } from '../lib/adminApi/createInvitersRuntime';
import { INVITERS_ROUTES, methodsOf, routeHandler } from '../lib/adminApi/invitersRoutes';
import { instanceRuntime } from '../lib/detectorRuntime';

// Settings are read at start-up: a wrong setting stops the app with a message naming it.
// Change notices share the instance's Teams pacing with the alerts.
const { api } = createInvitersRuntime(process.env, {
  teamsLimiter: instanceRuntime().teamsLimiter,
});

// The function key is a second lock behind App Service Authentication (see docs/admin-api.md).
for (const route of INVITERS_ROUTES) {
  app.http(route.name, {
    route: route.route,
    methods: methodsOf(route),
    authLevel: 'function',
    handler: routeHandler(api, route),
  });
}
