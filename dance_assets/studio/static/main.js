// The studio's page: home (her dances and progress) or practice (#/practice/<dance>).
import { showHome } from "./home.js";
import { showPractice } from "./practice.js";

let leave = null; // what the view on screen needs to stop (camera, socket) before the next

async function route() {
  if (leave) { leave(); leave = null; }
  const view = document.getElementById("view");
  const practice = location.hash.match(/^#\/practice\/(.+)$/);
  leave = practice ? await showPractice(view, decodeURIComponent(practice[1]))
                   : await showHome(view);
}

window.addEventListener("hashchange", route);
route();
