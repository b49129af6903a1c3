// Copy buttons of the built-in pages. A button with data-copy="id" copies
// the text of the element with that id and reports the outcome in the
// #copy-status live region. The buttons stay hidden without JavaScript,
// where the text can still be selected and copied by hand.
(function () {
	"use strict";

	var status = document.getElementById("copy-status");

	function report(text) {
		if (status) {
			status.textContent = text;
		}
	}

	function copyBySelection(source) {
		var range = document.createRange();
		range.selectNodeContents(source);
		var selection = window.getSelection();
		selection.removeAllRanges();
		selection.addRange(range);
		try {
			return document.execCommand("copy");
		} catch (e) {
			return false;
		}
	}

	document.querySelectorAll("button[data-copy]").forEach(function (button) {
		var source = document.getElementById(button.getAttribute("data-copy"));
		if (!source) {
			return;
		}
		var done = button.getAttribute("data-done");
		var failed = button.getAttribute("data-failed");
		button.hidden = false;
		button.addEventListener("click", function () {
			var text = source.innerText.trim();
			if (navigator.clipboard && window.isSecureContext) {
				navigator.clipboard.writeText(text).then(function () {
					report(done);
				}, function () {
					report(copyBySelection(source) ? done : failed);
				});
				return;
			}
			report(copyBySelection(source) ? done : failed);
		});
	});
})();
