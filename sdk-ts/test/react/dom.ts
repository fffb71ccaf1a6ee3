// A DOM for the React tests (happy-dom), installed as globals before react-dom loads: import
// this module first. React's `act` warns unless the environment says it is a test.
import { Window } from "happy-dom";

const window = new Window({ url: "http://localhost/" });
const globals = globalThis as Record<string, unknown>;
globals.window = window;
globals.document = window.document;
if (globals.navigator === undefined) globals.navigator = window.navigator;
globals.IS_REACT_ACT_ENVIRONMENT = true;

/** Close the window (its timers) when the tests are done. */
export async function closeDom(): Promise<void> {
  await window.happyDOM.close();
}
