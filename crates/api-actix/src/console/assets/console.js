// Asks before sending a form marked data-confirm (approve, reject...).
// Everything works without this script; it only adds the question.
document.addEventListener("submit", (event) => {
  const question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
