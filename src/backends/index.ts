// Registers the available backends. The interpreter is always present; the
// wasm backend becomes the default once it is registered.

import { registerBackend } from "../core/backend";
import { interpreterBackend } from "./interpreter";

registerBackend(interpreterBackend);

export { interpreterBackend };
