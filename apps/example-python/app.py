"""kalium's example Python app: a sentiment model, written against potassium 0.0.9's API.

The model is a multinomial naive Bayes classifier in plain Python (standard library only), trained
at init on the labelled reviews in reviews.tsv next to this file: it runs anywhere python3 does,
with nothing to download or install. Swap `train` for `transformers.pipeline(...)` and the rest of
the app stays as it is.

    npx kalium dev apps/example-python/app.py      # or: python3 apps/example-python/app.py
    curl -s localhost:8000/ -H 'content-type: application/json' -d '{"text": "what a great film"}'
"""
import math
import os
import re
from collections import Counter

from potassium import Potassium, Request, Response, send_webhook
from potassium.store import RedisConfig, Store

app = Potassium("sentiment-py")
store = Store(backend="redis", config=RedisConfig(host="localhost", port=6379))
WORD = re.compile(r"[a-z']+")


def tokens(text):
    return WORD.findall(text.lower())


class NaiveBayes:
    """Multinomial naive Bayes with add-one smoothing: log P(label) + sum of log P(word | label)."""

    def __init__(self, examples):
        self.words = {}
        self.totals = Counter()
        self.priors = Counter()
        for label, text in examples:
            self.priors[label] += 1
            counts = self.words.setdefault(label, Counter())
            for word in tokens(text):
                counts[word] += 1
                self.totals[label] += 1
        self.vocabulary = {word for counts in self.words.values() for word in counts}

    def predict(self, text):
        scores = {}
        size = len(self.vocabulary)
        examples = sum(self.priors.values())
        for label, counts in self.words.items():
            score = math.log(self.priors[label] / examples)
            for word in tokens(text):
                score += math.log((counts[word] + 1) / (self.totals[label] + size))
            scores[label] = score
        top = max(scores.values())
        odds = {label: math.exp(score - top) for label, score in scores.items()}
        label = max(odds, key=odds.get)
        return {"label": "positive" if label == "pos" else "negative", "score": round(odds[label] / sum(odds.values()), 4)}


def train():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reviews.tsv")
    with open(path, encoding="utf-8") as lines:
        examples = [line.rstrip("\n").split("\t", 1) for line in lines if line.strip()]
    return NaiveBayes(examples)


@app.init
def init():
    model = train()
    print("sentiment model trained on %d reviews, %d words" % (sum(model.priors.values()), len(model.vocabulary)))
    return {"model": model}


@app.handler("/", gpu=True)
def handler(context: dict, request: Request) -> Response:
    return Response(json=context["model"].predict(request.json["text"]), status=200)


@app.background("/background", gpu=True)
def background(context: dict, request: Request, job):
    texts = request.json["texts"]
    results = []
    for index, text in enumerate(texts):
        if job.aborted:
            break
        results.append(context["model"].predict(text))
        job.progress(round(100 * (index + 1) / len(texts)))
    # What it returns is the job's result, which kalium also keeps in the Store under the job's id.
    if request.json.get("webhook"):
        send_webhook(url=request.json["webhook"], json={"id": job.id, "results": results})
    return results


@app.handler("/stored", gpu=False)
def stored(context, request: Request) -> Response:
    """gpu=False, so it answers while the model is busy: a background job's result, from the Store."""
    value = store.get(request.json["id"])
    return Response(json={"results": value}, status=200 if value is not None else 404)


if __name__ == "__main__":
    app.serve()
