// The big screen's slide: during 述法, when the presenter has a deck, the current page
// goes large into the stage, under the presenter and the countdown that screen.js draws.
// The body gets `data-slide-on` so slides.css can lay the stage out around it.
//
// screen.js refills the stage whenever it renders; this module puts the slide back
// (right after, and on any refill, via a MutationObserver), so the two never race.
// Timing for the browser test: `.screen-slide` carries data-slide-page and
// data-slide-shown-at (see slides.js).

import { deckOf, reportingItem, slideView } from "../shared/slides.js";

export function mountScreenSlides(conn, stage) {
  const view = slideView({ className: "screen-slide", ahead: 1, behind: 1 });
  let on = false;

  const place = () => {
    if (on && view.node.parentNode !== stage) stage.append(view.node);
  };
  new MutationObserver(place).observe(stage, { childList: true });

  function render(state) {
    const item = reportingItem(state);
    on = !!item;
    document.body.toggleAttribute("data-slide-on", on);
    if (item) {
      view.show(item);
      place();
    } else {
      view.node.remove();
      // 述法 is about to begin: have the first page ready before it does.
      const next = state && state.meeting.status !== "ended" && state.items.find((i) => i.phase === "pending");
      if (next && deckOf(next)) view.preload(next, next.slides.page || 1);
    }
  }

  conn.on("state", render);
  if (conn.state) render(conn.state);
  return view;
}
