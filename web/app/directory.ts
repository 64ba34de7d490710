/** Bundle entry of the directory page (/). */
import "./boot.js";
