// Every test process deep-freezes what the store is given: code that changes a stored record in
// place (instead of storing a new one) throws here, rather than serving a stale cached view.
import { recordChecks } from "../../src/store/store.js";

recordChecks.freeze = true;
