// carepath: switch on GOV.UK Frontend and MOJ Frontend. Loaded as an ES module from /static/, so the
// page needs no inline script (the Content-Security-Policy is script-src 'self'). Module scripts run
// only in browsers GOV.UK Frontend supports, which is what the govuk-frontend-supported class says.
import { initAll as initGovukFrontend } from "./govuk-frontend.min.js";
import { initAll as initMojFrontend } from "./moj-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initGovukFrontend();
initMojFrontend();
