// Side effects every entry point needs before arrays can be computed with:
// the backends are registered, the eval trace installed, the array method
// forms installed by numpy, and the transformations' rule tables installed.

import "./backends";
import "./core";
import "./numpy";
import "../transforms";
