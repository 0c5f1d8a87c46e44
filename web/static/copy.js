// Copies the password shown once on the page; the page works without it.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("copy");
  if (!button) return;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(button.dataset.secret).then(function () {
      document.getElementById("copied").textContent = "Copied.";
    });
  });
});
