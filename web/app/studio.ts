/** Bundle entry of the studio page (/studio). */
import "./boot.js";
