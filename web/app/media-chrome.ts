/**
 * The media-chrome elements the pages use (each import defines its element).
 * Imported after boot.ts, so their styles carry the page's nonce.
 */
import "media-chrome/dist/media-controller.js";
import "media-chrome/dist/media-control-bar.js";
import "media-chrome/dist/media-play-button.js";
import "media-chrome/dist/media-mute-button.js";
import "media-chrome/dist/media-volume-range.js";
import "media-chrome/dist/media-fullscreen-button.js";
import "media-chrome/dist/media-pip-button.js";
import "media-chrome/dist/media-loading-indicator.js";
// the rendition menu builds its items as <media-chrome-menu-item>, which it does not define itself
import "media-chrome/dist/menu/media-chrome-menu-item.js";
import "media-chrome/dist/menu/media-rendition-menu.js";
import "media-chrome/dist/menu/media-rendition-menu-button.js";
